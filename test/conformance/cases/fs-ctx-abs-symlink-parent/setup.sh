mkdir -p inner links
echo in > inner/file.txt
ln -s /inner via-abs
ln -s /inner/file.txt links/abs
ln -s /etc/passwd links/outside
