"""The HTTP side: the Tornado application, its handlers, and the multipart and OpenAPI parts."""
