loadgen --url ws://127.0.0.1:PORT/ws/media-stream --sessions 2000 --threads 2 --mode realtime --ramp-up 5 --warmup 5 --warmup-window 4 --duration 20 --drain-timeout 30
