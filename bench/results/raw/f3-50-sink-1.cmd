loadgen --url ws://127.0.0.1:PORT/ws/media-stream --sessions 50 --mode max --window 4 --duration 5 --ramp-up 0
