# A context with symlinks in the middle of source paths and a symlink matched by a wildcard.
mkdir -p real/inner
echo r > real/inner/r.txt
ln -s real via
ln -s real/inner wild-link
ln -s ../real/inner/r.txt real/up.txt
