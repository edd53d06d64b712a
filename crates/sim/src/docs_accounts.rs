//! oned's user, host and system configuration documents, as the simulator writes them (element
//! order as in the real 7.4.0 captures).

use crate::model::*;
use crate::world::{World, epoch_now};
use crate::xml::{Doc, quota_number};

/// `<USER>`.
pub fn user(w: &World, u: &User) -> String {
    let mut d = Doc::with_capacity(4096);
    d.open("USER");
    d.num("ID", u.id);
    d.num("GID", u.gid);
    d.open("GROUPS");
    for g in &u.groups {
        d.num("ID", g);
    }
    d.close("GROUPS");
    d.text(
        "GNAME",
        w.groups.get(&u.gid).map(|g| g.name.as_str()).unwrap_or(""),
    );
    d.text("NAME", &u.name);
    d.cdata("PASSWORD", &u.password_hash);
    d.cdata("AUTH_DRIVER", "core");
    d.num("ENABLED", 1);
    let now = epoch_now();
    for t in u
        .tokens
        .iter()
        .filter(|t| t.expiration == -1 || t.expiration > now)
    {
        d.open("LOGIN_TOKEN");
        d.text("TOKEN", &t.token);
        d.num("EXPIRATION_TIME", t.expiration);
        d.num("EGID", t.egid);
        d.close("LOGIN_TOKEN");
    }
    d.open("TEMPLATE");
    d.cdata("TOKEN_PASSWORD", &u.token_password);
    d.close("TEMPLATE");
    d.empty("DATASTORE_QUOTA");
    d.empty("NETWORK_QUOTA");
    d.open("VM_QUOTA");
    if u.id != 0 {
        vm_quota(&mut d, w, u.id);
    }
    d.close("VM_QUOTA");
    d.empty("IMAGE_QUOTA");
    d.open("DEFAULT_USER_QUOTAS");
    for q in [
        "DATASTORE_QUOTA",
        "NETWORK_QUOTA",
        "VM_QUOTA",
        "IMAGE_QUOTA",
    ] {
        d.empty(q);
    }
    d.close("DEFAULT_USER_QUOTAS");
    d.close("USER");
    d.into_string()
}

fn vm_quota(d: &mut Doc, w: &World, uid: u32) {
    let mut n = 0u32;
    let (mut cpu, mut mem, mut rcpu, mut rmem, mut rvms) = (0.0, 0.0, 0.0, 0.0, 0u32);
    for v in w
        .vms
        .values()
        .filter(|v| v.uid == uid && v.state != state::DONE)
    {
        n += 1;
        cpu += v.tnum("CPU");
        mem += v.tnum("MEMORY");
        // The captures count ACTIVE, POWEROFF and SUSPENDED VMs as "running" for quotas.
        if matches!(v.state, state::ACTIVE | state::POWEROFF | state::SUSPENDED) {
            rvms += 1;
            rcpu += v.tnum("CPU");
            rmem += v.tnum("MEMORY");
        }
    }
    if n == 0 {
        return;
    }
    d.open("VM");
    let fields: [(&str, f64); 12] = [
        ("CPU", cpu),
        ("MEMORY", mem),
        ("PCI_DEV", 0.0),
        ("PCI_NIC", 0.0),
        ("RUNNING_CPU", rcpu),
        ("RUNNING_MEMORY", rmem),
        ("RUNNING_PCI_DEV", 0.0),
        ("RUNNING_PCI_NIC", 0.0),
        ("RUNNING_VMS", f64::from(rvms)),
        ("SYSTEM_DISK_SIZE", 0.0),
        ("VMS", f64::from(n)),
        ("", 0.0),
    ];
    for (k, used) in fields.iter().filter(|(k, _)| !k.is_empty()) {
        d.cdata(k, "-1");
        d.cdata(&format!("{k}_USED"), &quota_number(*used));
    }
    d.close("VM");
}

/// Static hardware of every simulated host (what the dummy IM driver reports).
fn host_share(d: &mut Doc, w: &World, running: &[u32]) {
    let (mut cpu, mut mem) = (0.0, 0.0);
    for id in running {
        if let Some(v) = w.vms.get(id) {
            cpu += v.tnum("CPU") * 100.0;
            mem += v.tnum("MEMORY") * 1024.0;
        }
    }
    d.open("HOST_SHARE");
    d.num("MEM_USAGE", mem as u64);
    d.num("CPU_USAGE", cpu as u64);
    d.num("TOTAL_MEM", 16_777_216);
    d.num("TOTAL_CPU", 800);
    d.num("MAX_MEM", 16_777_216);
    d.num("MAX_CPU", 800);
    d.num("RUNNING_VMS", running.len());
    d.num("VMS_THREAD", 1);
    d.open("DATASTORES");
    d.cdata("DISK_USAGE", "0");
    d.cdata("FREE_DISK", "20480");
    d.cdata("MAX_DISK", "20480");
    d.cdata("USED_DISK", "9720");
    d.close("DATASTORES");
    d.open("PCI_DEVICES");
    // The dummy IM driver's device list, shortened: a GPU with vGPU profiles, a USB
    // controller, a NIC and an SR-IOV physical function.
    type Pci<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
    );
    let pcis: [Pci<'_>; 4] = [
        (
            "0000:02:00:0",
            "02",
            "0302",
            "3D controller",
            "0863",
            "C79 [GeForce 9400M]",
            "00",
            "10de",
            "1145 (NVIDIA L40S-1B),1146 (NVIDIA L40S-2B)",
            "",
        ),
        (
            "0000:00:06:0",
            "00",
            "0c03",
            "USB controller",
            "0aa7",
            "MCP79 OHCI USB 1.1 Controller",
            "06",
            "1b21",
            "",
            "",
        ),
        (
            "0000:04:00:1",
            "04",
            "0200",
            "Ethernet controller",
            "165f",
            "NetXtreme BCM5720 Gigabit Ethernet PCIe",
            "00",
            "14e4",
            "",
            "",
        ),
        (
            "0000:81:00:0",
            "81",
            "0200",
            "Ethernet controller",
            "1015",
            "MT27710 Family [ConnectX-4 Lx]",
            "00",
            "15b3",
            "",
            "8",
        ),
    ];
    for (addr, bus, class, class_name, dev, dev_name, slot, vendor, profiles, sriov_num) in pcis {
        let function = &addr[addr.len() - 1..];
        d.open("PCI");
        d.cdata("ADDRESS", addr);
        d.cdata("BUS", bus);
        d.cdata("CLASS", class);
        d.cdata("CLASS_NAME", class_name);
        d.cdata("DEVICE", dev);
        d.cdata("DEVICE_NAME", dev_name);
        d.cdata("DOMAIN", "0000");
        d.cdata("FUNCTION", function);
        d.cdata("IFNAME", "-");
        d.cdata("NUMA_NODE", "0");
        if !profiles.is_empty() {
            d.cdata("PROFILES", profiles);
        }
        d.cdata("SHORT_ADDRESS", &format!("{bus}:{slot}.{function}"));
        d.cdata("SLOT", slot);
        d.cdata("SRIOV", if sriov_num.is_empty() { "no" } else { "pf" });
        if !sriov_num.is_empty() {
            d.cdata("SRIOV_NUM", sriov_num);
        }
        d.cdata("TYPE", &format!("{vendor}:{dev}:{class}"));
        d.cdata("VENDOR", vendor);
        d.cdata("VENDOR_NAME", "Simulated Devices Inc.");
        d.cdata("VMID", "-1");
        d.close("PCI");
    }
    d.close("PCI_DEVICES");
    d.open("NUMA_NODES");
    for node in 0..2u32 {
        d.open("NODE");
        for core in 0..4u32 {
            let c = node * 4 + core;
            d.open("CORE");
            d.cdata("CPUS", &format!("{c}:-1,{}:-1", c + 8));
            d.cdata("DEDICATED", "NO");
            d.cdata("FREE", "2");
            d.cdata("ID", &c.to_string());
            d.close("CORE");
        }
        for size in ["2048", "1048576"] {
            d.open("HUGEPAGE");
            d.cdata("PAGES", "1024");
            d.cdata("SIZE", size);
            d.cdata("USAGE", "0");
            d.close("HUGEPAGE");
        }
        d.open("MEMORY");
        d.cdata("DISTANCE", if node == 0 { "0 1" } else { "1 0" });
        d.cdata("TOTAL", "8388608");
        d.cdata("USAGE", "0");
        d.close("MEMORY");
        d.cdata("NODE_ID", &node.to_string());
        d.close("NODE");
    }
    d.close("NUMA_NODES");
    d.close("HOST_SHARE");
}

/// `<HOST>`; `pool` selects the pool form (`<MONITORING/>`).
pub fn host(d: &mut Doc, w: &World, h: &Host, pool: bool) {
    let running: Vec<u32> = w
        .vms
        .values()
        .filter(|v| {
            matches!(v.state, state::ACTIVE | state::POWEROFF | state::SUSPENDED)
                && v.history.last().is_some_and(|r| r.hid == h.id)
        })
        .map(|v| v.id)
        .collect();
    d.open("HOST");
    d.num("ID", h.id);
    d.text("NAME", &h.name);
    d.num("STATE", h.state);
    d.num("PREV_STATE", h.state);
    d.cdata("IM_MAD", "dummy");
    d.cdata("VM_MAD", "dummy");
    d.num("CLUSTER_ID", h.cluster_id);
    d.text("CLUSTER", "default");
    host_share(d, w, &running);
    d.open("VMS");
    for id in &running {
        d.num("ID", id);
    }
    d.close("VMS");
    d.open("TEMPLATE");
    d.cdata("ARCH", "x86_64");
    d.cdata("CPUSPEED", "3200");
    d.cdata("HOSTNAME", &h.name);
    d.cdata("HYPERVISOR", "dummy");
    d.cdata("IM_MAD", "dummy");
    d.cdata(
        "KVM_CPU_FEATURES",
        "vme,ds,acpi,ss,ht,tm,pbe,vmx,est,tm2,xtpr,pdcm",
    );
    d.cdata(
        "KVM_CPU_MODELS",
        "486 pentium qemu32 kvm32 kvm64 Nehalem Westmere SandyBridge",
    );
    d.cdata("MEMORY_ENCRYPTION", "");
    d.cdata("MODELNAME", "Simulated(R) Core @ 3.2GHz");
    d.cdata("RESERVED_CPU", "");
    d.cdata("RESERVED_MEM", "");
    d.cdata("TOTALCPU", "800");
    d.cdata("TOTALMEMORY", "16777216");
    d.cdata("VM_MAD", "dummy");
    d.close("TEMPLATE");
    if pool {
        d.self_closing("MONITORING");
    } else {
        let ts = epoch_now() - epoch_now().rem_euclid(30);
        let r = crate::world::splitmix(u64::from(h.id) ^ ts as u64);
        let used_cpu = 50 + r % 300;
        let used_mem = 4_000_000 + (r >> 16) % 8_000_000;
        d.open("MONITORING");
        d.num("TIMESTAMP", ts);
        d.num("ID", h.id);
        d.open("CAPACITY");
        d.cdata("FREE_CPU", &(800 - used_cpu).to_string());
        d.cdata("FREE_MEMORY", &(16_777_216 - used_mem).to_string());
        d.cdata("USED_CPU", &used_cpu.to_string());
        d.cdata("USED_MEMORY", &used_mem.to_string());
        d.close("CAPACITY");
        d.open("SYSTEM");
        d.cdata("NETRX", &(ts as u64 * 1000).to_string());
        d.cdata("NETTX", &(ts as u64 * 800).to_string());
        d.close("SYSTEM");
        for node in 0..2u32 {
            d.open("NUMA_NODE");
            for size in ["2048", "1048576"] {
                d.open("HUGEPAGE");
                d.cdata("FREE", "1024");
                d.cdata("SIZE", size);
                d.close("HUGEPAGE");
            }
            d.open("MEMORY");
            d.cdata("FREE", &(8_388_608 - used_mem / 2).to_string());
            d.cdata("USED", &(used_mem / 2).to_string());
            d.close("MEMORY");
            d.cdata("NODE_ID", &node.to_string());
            d.close("NUMA_NODE");
        }
        d.close("MONITORING");
    }
    d.close("HOST");
}

/// `<OPENNEBULA_CONFIGURATION>`: the subset a client reads (VNC_PORTS, operation lists).
pub fn system_config(w: &World, admin: bool) -> String {
    let mut d = Doc::with_capacity(1024);
    d.open("OPENNEBULA_CONFIGURATION");
    d.text("API_LIST_ORDER", "DESC");
    if admin {
        d.text("DEFAULT_UMASK", "177");
    }
    d.text(
        "VM_ADMIN_OPERATIONS",
        "migrate, delete, recover, retry, deploy, resched, backup, restore",
    );
    d.text(
        "VM_MANAGE_OPERATIONS",
        "undeploy, hold, release, stop, suspend, resume, reboot, poweroff, disk-attach, nic-attach, disk-snapshot, terminate, disk-resize, snapshot, updateconf, rename, resize, update, disk-saveas, sched-action, sg-attach, pci-attach",
    );
    d.text("VM_USE_OPERATIONS", "");
    d.open("VNC_PORTS");
    d.text("RESERVED", "32768:65536");
    d.num("START", w.vnc_base);
    d.close("VNC_PORTS");
    d.close("OPENNEBULA_CONFIGURATION");
    d.into_string()
}
