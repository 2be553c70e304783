"""``gallery serve``: the web app and API alone (``gallery up`` runs everything)."""

from __future__ import annotations

import argparse

from registry.settings import Settings


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="gallery serve", description="Serve the web app and API.")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    import uvicorn

    from web.app import create_app

    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_level="info",
        access_log=False,  # registry.logs writes one line per request, with its id
    )
    return 0
