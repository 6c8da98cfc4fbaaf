"""The web front: the hall's pages, served to browsers, a client of the gRPC APIs."""
