"""The browser app: Python that runs in the page (a PyScript worker) and drives the sign-in views."""
