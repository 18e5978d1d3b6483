# Symlinks to a directory and a file, an empty directory, a name with [ ].
mkdir -p real-dir/empty tree/sub
echo r > real-dir/r.txt
echo f > file.txt
ln -s real-dir link-to-dir
ln -s file.txt link-to-file
ln -s ../file.txt tree/up-link
ln -s sub tree/sub-link
echo s > tree/sub/s.txt
echo odd > 'odd[1].txt'
