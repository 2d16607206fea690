loadgen --url ws://127.0.0.1:PORT/ws/media-stream --sessions 1000 --mode max --window 4 --duration 5 --ramp-up 2
