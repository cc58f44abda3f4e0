//! Identifying the shared memory region behind an address, to check zero-copy paths.

/// Which shared memory region holds `address` in this process: `"<device>:<inode> <name>"`
/// from `/proc/self/maps`, the same in every process that maps the region (the inode names
/// the memory object, not the mapping), or an empty string when `address` is not inside a
/// shared memory mapping (a `memfd` or a file in `/dev/shm`) or the map cannot be read.
pub fn shared_memory_region(address: usize) -> String {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return String::new();
    };
    maps.lines()
        .find_map(|line| region_in_line(line, address))
        .unwrap_or_default()
}

/// Parses one line of `/proc/<pid>/maps`:
/// `start-end perms offset dev inode [path]`.
fn region_in_line(line: &str, address: usize) -> Option<String> {
    let mut fields = line.split_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    if !(start..end).contains(&address) {
        return None;
    }
    let _perms = fields.next()?;
    let _offset = fields.next()?;
    let device = fields.next()?;
    let inode = fields.next()?;
    let path = fields.next()?;
    (path.starts_with("/memfd:") || path.starts_with("/dev/shm/"))
        .then(|| format!("{device}:{inode} {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memfd_mappings_are_identified_and_others_are_not() {
        let line =
            "7f0000000000-7f0000100000 r--s 00000000 00:01 4242    /memfd:dora-df-node-1 (deleted)";
        assert_eq!(
            region_in_line(line, 0x7f0000000010).as_deref(),
            Some("00:01:4242 /memfd:dora-df-node-1")
        );
        assert_eq!(region_in_line(line, 0x7f0000100000), None);
        let heap = "55d000000000-55d000100000 rw-p 00000000 00:00 0    [heap]";
        assert_eq!(region_in_line(heap, 0x55d000000010), None);
    }

    #[test]
    fn a_stack_address_is_not_shared_memory() {
        let local = 5u64;
        assert_eq!(shared_memory_region(&local as *const u64 as usize), "");
    }
}
