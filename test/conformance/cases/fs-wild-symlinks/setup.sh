mkdir -p real
echo r > real/r.txt; echo f > file.txt
ln -s file.txt lf1; ln -s real ld; ln -s real linkdir
