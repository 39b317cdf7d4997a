// Allocation strategies users compare, side by side, with a counting GlobalAlloc over
// the system allocator for truth. Each strategy runs in its own function, strat_NAME,
// which alloctop's stacks name; the truth line gives each one's allocations, frees and
// requested bytes as the global allocator saw them (a realloc is one free plus one
// allocation, as alloctop counts it). Protocol as tests/families/fam.h: "ready PID", a
// line, the measured phase, one JSON truth line, a line, exit. Nothing allocates outside
// the strategies during the measured phase: the output buffer is reserved before it.
use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use arrayvec::ArrayVec;
use bumpalo::Bump;
use smallvec::SmallVec;

const NAMES: [&str; 14] = [
    "other", "vec_push", "vec_with_capacity", "fresh_buffers", "clear_reuse", "smallvec_under", "smallvec_over",
    "arrayvec", "boxes", "bumpalo", "cow_borrowed", "cow_owned", "clone_then_field", "field_to_owned",
];

static CUR: AtomicUsize = AtomicUsize::new(0);
#[allow(clippy::declare_interior_mutable_const)]
const ZERO: AtomicUsize = AtomicUsize::new(0); // array repeat of a const: Rust 1.63 has no inline const
static ALLOCS: [AtomicUsize; 14] = [ZERO; 14];
static FREES: [AtomicUsize; 14] = [ZERO; 14];
static BYTES: [AtomicUsize; 14] = [ZERO; 14];

struct Counting;

fn count_alloc(size: usize) {
    let s = CUR.load(Relaxed);
    ALLOCS[s].fetch_add(1, Relaxed);
    BYTES[s].fetch_add(size, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            count_alloc(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            count_alloc(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        FREES[CUR.load(Relaxed)].fetch_add(1, Relaxed);
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let q = System.realloc(p, l, n);
        if !q.is_null() {
            FREES[CUR.load(Relaxed)].fetch_add(1, Relaxed);
            count_alloc(n);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Hides a value from the optimiser (a volatile read; Rust 1.63 has no black_box), so
/// allocations stay.
fn opaque<T>(x: T) -> T {
    let r = unsafe { std::ptr::read_volatile(&x) };
    std::mem::forget(x);
    r
}

const N: usize = 1000;

#[inline(never)]
fn strat_vec_push() -> usize {
    let mut v = Vec::new(); // grows by doubling: a realloc chain
    for i in 0..N {
        v.push(opaque(i as u64));
    }
    opaque(v).len()
}

#[inline(never)]
fn strat_vec_with_capacity() -> usize {
    let mut v = Vec::with_capacity(N); // one allocation
    for i in 0..N {
        v.push(opaque(i as u64));
    }
    opaque(v).len()
}

#[inline(never)]
fn strat_fresh_buffers() -> usize {
    let mut total = 0;
    for round in 0..50 {
        let mut buf = String::new(); // a new buffer every round
        for _ in 0..20 {
            buf.push_str(opaque("abcdef"));
        }
        total += opaque(&buf).len() + round;
    }
    total
}

#[inline(never)]
fn strat_clear_reuse() -> usize {
    let mut total = 0;
    let mut buf = String::new(); // one buffer, cleared and reused
    for round in 0..50 {
        buf.clear();
        for _ in 0..20 {
            buf.push_str(opaque("abcdef"));
        }
        total += opaque(&buf).len() + round;
    }
    total
}

#[inline(never)]
fn strat_smallvec_under() -> usize {
    let mut total = 0;
    for r in 0..100 {
        let mut v: SmallVec<[u32; 8]> = SmallVec::new();
        for i in 0..8 {
            v.push(opaque(i + r)); // stays inline: no allocation
        }
        total += opaque(v).len();
    }
    total
}

#[inline(never)]
fn strat_smallvec_over() -> usize {
    let mut total = 0;
    for r in 0..100 {
        let mut v: SmallVec<[u32; 8]> = SmallVec::new();
        for i in 0..9 {
            v.push(opaque(i + r)); // the 9th spills to the heap
        }
        total += opaque(v).len();
    }
    total
}

#[inline(never)]
fn strat_arrayvec() -> usize {
    let mut total = 0;
    for r in 0..100 {
        let mut v: ArrayVec<u32, 16> = ArrayVec::new();
        for i in 0..16 {
            v.push(opaque(i + r)); // fixed capacity, never on the heap
        }
        total += opaque(v).len();
    }
    total
}

struct Item {
    id: u64,
    name: String,
}

#[inline(never)]
fn strat_boxes() -> usize {
    let mut items = Vec::with_capacity(200);
    for i in 0..200 {
        items.push(Box::new(opaque(i as u64))); // one block per item
    }
    opaque(items).len()
}

#[inline(never)]
fn strat_bumpalo() -> usize {
    let bump = Bump::new();
    let mut sum = 0;
    for i in 0..200 {
        sum += *bump.alloc(opaque(i as u64)); // a few chunks, not 200 blocks
    }
    opaque(&bump);
    sum as usize
}

fn normalize(s: &str) -> Cow<'_, str> {
    if s.contains(' ') {
        Cow::Owned(s.replace(' ', "_"))
    } else {
        Cow::Borrowed(s)
    }
}

#[inline(never)]
fn strat_cow_borrowed() -> usize {
    (0..100).map(|_| opaque(normalize(opaque("no_spaces_here"))).len()).sum()
}

#[inline(never)]
fn strat_cow_owned() -> usize {
    // the result escapes (opaque): unused, the optimiser would drop the allocation and
    // keep the counting allocator's tally of it
    (0..100).map(|_| opaque(normalize(opaque("has some spaces"))).len()).sum()
}

#[derive(Clone)]
struct Record {
    id: u64,
    tags: Vec<String>,
    name: String,
}

impl Record {
    fn name(&self) -> &str {
        &self.name
    }
}

#[inline(never)]
fn strat_clone_then_field(r: &Record) -> usize {
    let mut total = 0;
    for _ in 0..50 {
        let name = opaque(r).clone().name; // clones every field, keeps one
        total += name.len();
    }
    total
}

#[inline(never)]
fn strat_field_to_owned(r: &Record) -> usize {
    let mut total = 0;
    for _ in 0..50 {
        let name = opaque(r).name().to_owned(); // copies the one field
        total += name.len();
    }
    total
}

fn run<F: FnOnce() -> usize>(slot: usize, f: F) -> usize {
    CUR.store(slot, Relaxed);
    let n = f();
    CUR.store(0, Relaxed);
    n
}

fn main() {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = String::with_capacity(256);
    let mut out = String::with_capacity(8192);
    let record = Record {
        id: 7,
        tags: vec!["alpha".to_string(), "beta".to_string(), "gamma".to_string()],
        name: "a record with a name".to_string(),
    };
    let item = Item { id: 1, name: "x".to_string() };
    println!("ready {}", std::process::id());
    std::io::stdout().flush().unwrap();
    input.read_line(&mut line).unwrap();
    for s in 0..NAMES.len() {
        ALLOCS[s].store(0, Relaxed);
        FREES[s].store(0, Relaxed);
        BYTES[s].store(0, Relaxed);
    }
    let mut sink = item.id as usize + item.name.len() + record.id as usize + record.tags.len();
    sink += run(1, strat_vec_push);
    sink += run(2, strat_vec_with_capacity);
    sink += run(3, strat_fresh_buffers);
    sink += run(4, strat_clear_reuse);
    sink += run(5, strat_smallvec_under);
    sink += run(6, strat_smallvec_over);
    sink += run(7, strat_arrayvec);
    sink += run(8, strat_boxes);
    sink += run(9, strat_bumpalo);
    sink += run(10, strat_cow_borrowed);
    sink += run(11, strat_cow_owned);
    sink += run(12, || strat_clone_then_field(&record));
    sink += run(13, || strat_field_to_owned(&record));
    opaque(sink);
    // the truth, into the buffer reserved before the measured phase
    use std::fmt::Write as _;
    let (mut a, mut f, mut b) = (0, 0, 0);
    out.push_str("{\"strategies\": {");
    for s in 1..NAMES.len() {
        let (sa, sf, sb) = (ALLOCS[s].load(Relaxed), FREES[s].load(Relaxed), BYTES[s].load(Relaxed));
        a += sa;
        f += sf;
        b += sb;
        let _ = write!(out, "{}\"{}\": {{\"allocs\": {}, \"frees\": {}, \"alloc_bytes\": {}}}",
                       if s > 1 { ", " } else { "" }, NAMES[s], sa, sf, sb);
    }
    let _ = write!(out, "}}, \"allocs\": {}, \"frees\": {}, \"alloc_bytes\": {}, \"other_allocs\": {}}}\n",
                   a, f, b, ALLOCS[0].load(Relaxed));
    let mut so = std::io::stdout().lock();
    so.write_all(out.as_bytes()).unwrap();
    so.flush().unwrap();
    line.clear();
    let _ = input.read_line(&mut line);
}
