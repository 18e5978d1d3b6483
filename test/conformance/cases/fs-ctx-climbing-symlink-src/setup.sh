mkdir -p inner
echo in > inner/file.txt
ln -s ../../../inner/file.txt esc
