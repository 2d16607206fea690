loadgen --url ws://127.0.0.1:PORT/ws/media-stream --sessions 10000 --ramp-up 5 --mode realtime --audio-interval 3600 --frame-interval 0 --threads 2 --duration 600 --init-timeout 60
