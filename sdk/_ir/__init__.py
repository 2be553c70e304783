"""The workflow IR by concern; ``sdk.spec`` is its front door."""
