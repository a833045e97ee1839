//! Hosts as network namespaces: each daemon in a namespace of its own, joined to the
//! test's namespace through a veth pair on a bridge. The test process (root namespace)
//! owns the bridge's address, where the PostgreSQL proxy and the mock downstream listen;
//! a host's link can be cut and restored (`ip link set ... down|up`).
//!
//! Names are unique per run (the process id), and everything is removed when the value
//! is dropped, also when the test fails. Namespaces left behind by a run that was killed
//! are removed at the next start.

use std::net::Ipv4Addr;
use std::process::Command;

/// The namespaces, links and bridge of one run.
pub struct Net {
    pid: u32,
    subnet: u8,
    hosts: usize,
}

/// Runs `ip` with `args`; the error names the command.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Net {
    /// Creates `hosts` namespaces on a bridge, or says why it cannot (not root, no `ip`,
    /// no namespaces): the test is then skipped.
    pub fn create(hosts: usize) -> Result<Net, String> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| format!("id -u: {e}"))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("not root".into());
        }
        remove_stale();
        let pid = std::process::id();
        let used = Command::new("ip")
            .args(["-4", "addr", "show"])
            .output()
            .map_err(|e| format!("ip: {e}"))?;
        let used = String::from_utf8_lossy(&used.stdout).into_owned();
        let subnet = (0..200u32)
            .map(|k| ((pid + k) % 200 + 20) as u8)
            .find(|s| !used.contains(&format!("10.213.{s}.")))
            .ok_or("no free subnet")?;
        let mut net = Net {
            pid,
            subnet,
            hosts: 0,
        };
        ip(&["link", "add", &net.bridge(), "type", "bridge"])?;
        ip(&[
            "addr",
            "add",
            &format!("{}/24", net.gateway()),
            "dev",
            &net.bridge(),
        ])?;
        ip(&["link", "set", &net.bridge(), "up"])?;
        for i in 0..hosts {
            let (ns, outer, inner) = (net.namespace(i), net.outer(i), net.inner(i));
            ip(&["netns", "add", &ns])?;
            net.hosts = i + 1;
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ])?;
            ip(&["link", "set", &inner, "netns", &ns])?;
            ip(&["link", "set", &outer, "master", &net.bridge()])?;
            ip(&["link", "set", &outer, "up"])?;
            let addr = format!("{}/24", net.addr(i));
            ip(&["-n", &ns, "addr", "add", &addr, "dev", &inner])?;
            ip(&["-n", &ns, "link", "set", &inner, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(net)
    }

    /// The test's address on the bridge.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.subnet, 1)
    }

    /// Host `i`'s address.
    pub fn addr(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.subnet, 10 + i as u8)
    }

    /// Which host an address is, if it is one.
    pub fn host_of(&self, addr: Ipv4Addr) -> Option<usize> {
        let [a, b, c, d] = addr.octets();
        ((a, b, c) == (10, 213, self.subnet) && d >= 10)
            .then(|| usize::from(d - 10))
            .filter(|i| *i < self.hosts)
    }

    /// The command prefix that runs a program in host `i`'s namespace.
    pub fn exec(&self, i: usize) -> Vec<String> {
        ["ip", "netns", "exec", &self.namespace(i)]
            .map(str::to_owned)
            .to_vec()
    }

    /// Cuts host `i` off: its link to the bridge goes down.
    pub fn cut(&self, i: usize) {
        ip(&["link", "set", &self.outer(i), "down"]).expect("cut the link");
    }

    /// Restores host `i`'s link.
    pub fn restore(&self, i: usize) {
        ip(&["link", "set", &self.outer(i), "up"]).expect("restore the link");
    }

    fn bridge(&self) -> String {
        format!("tnxb{}", self.pid % 100_000)
    }

    fn namespace(&self, i: usize) -> String {
        format!("tenax-{}-{i}", self.pid)
    }

    fn outer(&self, i: usize) -> String {
        format!("tnxv{}{i}", self.pid % 100_000)
    }

    fn inner(&self, i: usize) -> String {
        format!("tnxp{}{i}", self.pid % 100_000)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in 0..self.hosts {
            // Deleting the namespace deletes the inner end, and with it the outer one.
            let _ = ip(&["netns", "del", &self.namespace(i)]);
            let _ = ip(&["link", "del", &self.outer(i)]);
        }
        let _ = ip(&["link", "del", &self.bridge()]);
    }
}

/// Removes the namespaces (and so the links) of runs whose process is gone, and their
/// bridges.
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix("tenax-") else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", name]);
            let _ = ip(&["link", "del", &format!("tnxb{}", pid % 100_000)]);
        }
    }
}
