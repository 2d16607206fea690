#include <cstdio>
int main() { std::puts("mediaspool: not yet"); return 0; }
