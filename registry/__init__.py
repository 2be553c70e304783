"""Gallery registry: accounts, versioned assets, visibility, catalog and subscriptions.

The registry is a Litestar application over SQLModel (SQLite or PostgreSQL) and a blob store
(local directory or S3). ``registry.app.create_app(settings)`` builds it.
"""
