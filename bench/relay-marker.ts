// OutputDebugStringA, which bench/count-calls.ts finds in Wine's relay trace: the bench's
// sender (latency) and receiver (throughput) call it around what they measure when their
// arguments ask for markers. Loaded only then, so that a normal run loads nothing more.

/** A function that writes `text` with OutputDebugStringA. */
export async function relayMarker(): Promise<(text: string) => void> {
  const { default: koffi } = await import('koffi');
  const outputDebugString = koffi.load('kernel32.dll').func('void __stdcall OutputDebugStringA(const char *text)');
  return (text) => outputDebugString(text);
}
