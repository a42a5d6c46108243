"""The health domain: live checks, health history, the store health and metrics sensors, and
the hourly schedule."""
