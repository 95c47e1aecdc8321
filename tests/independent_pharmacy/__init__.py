"""A pharmacy server written from docs/pharmacy-api.yaml alone, to prove the contract is enough to build one."""
