"""The admin password the test stacks and apps are given."""

import argon2

ADMIN_PASSWORD = "correct horse battery staple"
# Cheap argon2 parameters: tests sign in often; the app's own hashes use argon2's defaults.
CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ADMIN_HASH = CHEAP.hash(ADMIN_PASSWORD)
