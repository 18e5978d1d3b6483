# Context files with owners other than root and with unusual modes (git keeps neither).
mkdir -p d700/sub d777 dsticky dsetgid plain
echo a > d700/sub/a; echo b > d777/b; echo s > dsticky/s; echo g > dsetgid/g
echo p > plain/f600; echo q > plain/f777; echo r > plain/f4755; echo t > plain/f2711; echo u > plain/f000
chmod 0700 d700; chmod 0750 d700/sub; chmod 0777 d777; chmod 1777 dsticky; chmod 2755 dsetgid
chmod 0600 plain/f600; chmod 0777 plain/f777; chmod 4755 plain/f4755; chmod 2711 plain/f2711; chmod 0000 plain/f000
chown -R 1234:5678 d700 plain; chown 4321 d777/b
ln -s f600 plain/link; chown -h 99:99 plain/link
