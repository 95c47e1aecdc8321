"""`python -m localcloud.patches`: the patches by service, as docs/local-cloud.md lists them."""

from localcloud.patches import table

print(table(), end="")
