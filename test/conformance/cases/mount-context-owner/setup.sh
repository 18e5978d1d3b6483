echo x > owned.txt && chown 1234:5678 owned.txt && chmod 0640 owned.txt
echo y > exec.sh && chmod 4755 exec.sh
mkdir d && chown 42:43 d && chmod 0700 d
