loadgen --url ws://127.0.0.1:PORT/ws/media-stream --sessions 1000 --ramp-up 1 --mode realtime --audio-interval 3600 --frame-interval 0 --threads 2 --duration 600 --init-timeout 60
