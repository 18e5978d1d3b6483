mkdir -p m/sgd; echo u > m/u4755; echo g > m/g2755; echo b > m/b6711; echo p > m/plain; echo i > m/sgd/i
chmod 4755 m/u4755; chmod 2755 m/g2755; chmod 6711 m/b6711; chmod 2775 m/sgd; chmod 0644 m/plain
