"""The web app: confirmation pages (GET shows, POST confirms with the PIN) and /healthz."""
