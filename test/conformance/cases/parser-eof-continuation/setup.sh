printf '%s' "$(cat Dockerfile)" > D && mv D Dockerfile
