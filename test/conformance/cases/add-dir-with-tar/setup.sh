# An archive inside a directory.
mkdir -p pack src/sub
echo in > src/sub/in.txt
tar -cf pack/inner.tar -C src sub
echo plain > pack/plain.txt
rm -rf src
