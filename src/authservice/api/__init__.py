"""The HTTP layer: the ASGI app, the routes of auth and of messaging, their request and response
bodies, the dependencies they share (the services, the session a request presents, its proof),
the error handlers and the middleware. Nothing below it imports it."""
