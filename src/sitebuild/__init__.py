"""The build: turns the repository into a static site (`dist/`), serves it, and runs the tests."""
