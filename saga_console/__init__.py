"""The saga console: a web page to watch and operate sagas, on the same queries as the `saga` CLI."""
