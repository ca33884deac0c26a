// memmgr: the table of contents. `import memmgr;` brings every part below.
//
// Each line re-exports one partition; see the partition's file for its contract.
export module memmgr;

export import :errors;   // errc, result<T>, heap_error (a std::bad_alloc), checked_multiply
export import :concepts; // heap and its refinements, guaranteed_alignment_v
export import :crt_heap; // crt_heap: malloc/free/realloc/_msize (CCRTHeap)

// Internal: the platform layer (Win32 on Windows, portable backends on POSIX). Not exported.
import :platform;
