"""The conductor: RPC server, client APIs, policy actions and VNF managers."""
