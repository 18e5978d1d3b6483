printf 'COPY <<EOF /nul.bin\na\000b\nEOF\n' >> Dockerfile
