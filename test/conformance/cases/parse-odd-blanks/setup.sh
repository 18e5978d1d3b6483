printf '# Form feed and vertical tab as separators.\nFROM busybox\nRUN\fecho ff > /ff.txt\nENV\vA=1\fB=2\nWORKDIR\v/vt\nRUN echo "[$A][$B]" > /env.txt\n' > Dockerfile
