"""AWS checks, one module per service family. Importing a module registers its checks."""
