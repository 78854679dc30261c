"""Access tokens: one verification for the gateway and every service (DESIGN §6), and FastAPI dependencies."""
