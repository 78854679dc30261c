"""Statistics per agency, category and period: received, handled, on time, satisfaction (Decision 766)."""
