# The page's Python entry point, run by PyScript in a worker; the app itself is in src/webapp.
from webapp.main import main

app = main()
