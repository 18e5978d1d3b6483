for a in amd64 arm64 arm riscv64; do echo "$a" > bin-linux-$a; done
