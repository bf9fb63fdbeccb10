"""The daemon's HTTP side: the API (control), Prometheus metrics, the dashboard, served by uvicorn."""
