mkdir -p sp
echo r > sp/regular
mkfifo sp/fifo
chmod 0640 sp/fifo
python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.bind("sp/sock")'
