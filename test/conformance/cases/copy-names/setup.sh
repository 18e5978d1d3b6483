# Names git would mangle or cannot hold, a 3 MB file, a file with a user xattr.
mkdir -p "names/with space/ünïcödé 名前" names/-dash "names/br[a]ck*t?"
printf 'u\n' > "names/with space/ünïcödé 名前/fïlé ✓.txt"
printf 'd\n' > names/-dash/-f
printf 'g\n' > "names/br[a]ck*t?/x"
long=names/$(printf 'a%.0s' $(seq 1 110))/$(printf 'b%.0s' $(seq 1 110))
mkdir -p "$long"
printf 'long\n' > "$long/$(printf 'c%.0s' $(seq 1 120)).txt"
head -c 3000000 /dev/urandom > big.bin
printf 'x\n' > xattr.txt
setfattr -n user.kiln -v conformance xattr.txt
