"""`make dev`: the local stand-in for the deployed system (moto, routes from template.yaml, stand-ins)."""
