"""Small helpers shared by every lambdakit utility. Private: not part of the public API."""
