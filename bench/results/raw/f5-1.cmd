loadgen --url ws://127.0.0.1:PORT/ws/media-stream --sessions 10 --mode max --window 4 --audio-interval 0 --frame-interval 2 --items 2000 --position-bucket 100
