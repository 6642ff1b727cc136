"""Administration: the command line (`python -m authservice`), its flags made from the settings,
serving with uvicorn in one or more processes, and managing applications."""
