/**
 * Static checks of the SD-card image recipe (images/), the part CI runs on every commit. The image
 * build and its boot test (images/build.sh, images/boot-test.sh) take many minutes of emulation
 * and run from their own scripts. Checked here: shellcheck of the scripts, the refusals that must
 * come before any work (unknown board, not root, no binfmt_misc) with their distinct exit codes,
 * the package list as the script parses it and the cache key it derives, the first-boot unit with
 * the real systemd-analyze, and that the disk layout, fstab and kernel root agree on labels.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cleanupDir, tempDir } from '../../fixtures/proc.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const BUILD = join(ROOT, 'images/build.sh');
const tmp = cleanupDir(tempDir('rw-images-'));

async function sh(
  args: string[],
  opts: { env?: Record<string, string>; asNobody?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  // as root (CI, this project's VM) drop to nobody; a non-root runner already is "not root"
  const argv =
    opts.asNobody && process.getuid?.() === 0
      ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'bash', ...args]
      : ['bash', ...args];
  try {
    const r = await run(argv[0] as string, argv.slice(1), {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** Boards as the repository defines them: a pin map board/<b>.yaml and a config.txt fragment. */
function boardsOnDisk(): string[] {
  return readdirSync(join(ROOT, 'board'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .filter((b) => existsSync(join(ROOT, 'board', b, 'config.txt')))
    .sort();
}

describe('images/ scripts', () => {
  it('pass shellcheck (warnings and errors)', () => {
    const scripts = [
      ...readdirSync(join(ROOT, 'images'))
        .filter((f) => f.endsWith('.sh'))
        .map((f) => `images/${f}`),
      'images/firstboot/rackwitness-firstboot',
    ];
    expect(scripts).toContain('images/build.sh');
    expect(scripts).toContain('images/boot-test.sh');
    // throws with shellcheck's findings on any warning
    execFileSync('shellcheck', ['-S', 'warning', '-s', 'bash', ...scripts.filter((s) => s.endsWith('.sh'))], {
      cwd: ROOT,
    });
    execFileSync('shellcheck', ['-S', 'warning', '-s', 'sh', 'images/firstboot/rackwitness-firstboot'], { cwd: ROOT });
  });

  it('are executable by bash from a fresh clone (syntax)', async () => {
    for (const f of [
      'images/build.sh',
      'images/boot-test.sh',
      'images/layer.sh',
      'images/check-image.sh',
      'images/install-tools.sh',
    ]) {
      const r = await sh(['-n', f]);
      expect(r.stderr, f).toBe('');
      expect(r.code, f).toBe(0);
    }
  });
});

describe('images/build.sh refusals (before any work)', () => {
  it('an unknown board: exit 2, one line naming the boards that exist', async () => {
    const r = await sh([BUILD, 'rpi9', join(tmp, 'out')]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`images/build.sh: no board file for 'rpi9' (boards: ${boardsOnDisk().join(' ')})`);
    expect(existsSync(join(tmp, 'out'))).toBe(false);
  });

  it('--list-boards lists exactly the board files of the repository', async () => {
    const r = await sh([BUILD, '--list-boards']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(boardsOnDisk());
    expect(boardsOnDisk()).toContain('rpi4');
  });

  it('missing arguments: usage and exit 2', async () => {
    const r = await sh([BUILD, 'rpi4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^usage: bash images\/build\.sh <board> <outdir>/);
  });

  it('not root: exit 3, one line', async () => {
    const r = await sh([BUILD, 'rpi4', join(tmp, 'out-nobody')], { asNobody: true });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([
      'images/build.sh: needs root (mmdebstrap --mode=root, chroot into the arm64 tree, device nodes); run it with sudo',
    ]);
  });

  it('no binfmt_misc: exit 4, one line, nothing installed or built', async () => {
    const missing = join(tmp, 'no-such-binfmt-dir');
    const r = await sh([BUILD, 'rpi4', join(tmp, 'out-binfmt')], {
      env: { RW_BINFMT_DIR: missing, RW_IMAGE_CACHE: join(tmp, 'cache') },
    });
    expect(r.code).toBe(4);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^images\/build\.sh: no binfmt_misc at .*no-such-binfmt-dir/);
    expect(existsSync(join(tmp, 'cache'))).toBe(false);
  });

  it('a --deb that does not exist: exit 5 naming it', async () => {
    const r = await sh([BUILD, 'rpi4', join(tmp, 'out-deb'), '--deb', join(tmp, 'nope.deb')]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('nope.deb: no such file');
  });
});

describe('images/packages.txt', () => {
  const names = async (env?: Record<string, string>) => {
    const r = await sh([BUILD, '--list-packages'], { env });
    expect(r.code).toBe(0);
    return r.stdout.trim().split('\n');
  };

  it('parses to valid, unique Debian package names with what the box needs', async () => {
    const list = await names();
    for (const n of list) expect(n).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
    expect(new Set(list).size).toBe(list.length);
    // Node >= 20 comes from trixie's nodejs; the kernel and firmware are Debian's
    for (const must of ['nodejs', 'systemd', 'systemd-sysv', 'udev', 'linux-image-arm64', 'raspi-firmware']) {
      expect(list).toContain(must);
    }
    // what the app layer and first boot call in the image
    for (const must of ['fdisk', 'e2fsprogs', 'util-linux', 'openssh-server', 'systemd-resolved']) {
      expect(list).toContain(must);
    }
  });

  it('the base cache key follows the list: same list same key, any change a new key', async () => {
    const key = async (env?: Record<string, string>) => (await sh([BUILD, '--print-key'], { env })).stdout.trim();
    const k1 = await key();
    expect(k1).toMatch(/^[0-9a-f]{16}$/);
    expect(await key()).toBe(k1);
    const text = readFileSync(join(ROOT, 'images/packages.txt'), 'utf8');
    // comments and blank lines do not change the key
    const commented = join(tmp, 'commented.txt');
    writeFileSync(commented, `# another comment\n\n${text}\n# trailing\n`);
    expect(await key({ RW_IMAGE_PACKAGES: commented })).toBe(k1);
    const added = join(tmp, 'added.txt');
    writeFileSync(added, `${text}\ncurl\n`);
    expect(await names({ RW_IMAGE_PACKAGES: added })).toContain('curl');
    expect(await key({ RW_IMAGE_PACKAGES: added })).not.toBe(k1);
  });
});

describe('image layout and first boot', () => {
  const cfg = readFileSync(join(ROOT, 'images/genimage.cfg'), 'utf8');
  const layer = readFileSync(join(ROOT, 'images/layer.sh'), 'utf8');

  it('genimage: FAT32 firmware partition mounted at /boot/firmware, ext4 root; fstab and root= use its labels', () => {
    expect(cfg).toMatch(/image boot\.vfat \{\s*mountpoint = "\/boot\/firmware"/);
    expect(cfg).toMatch(/partition-type = 0xC/);
    expect(cfg).toMatch(/partition-type = 0x83/);
    const fat = cfg.match(/vfat \{[^}]*label = "([^"]+)"/)?.[1];
    const root = cfg.match(/ext4 \{[^}]*label = "([^"]+)"/)?.[1];
    expect(fat).toBe('RASPIFIRM');
    expect(root).toBe('root');
    expect(layer).toContain(`LABEL=${root}\\t/\\text4`);
    expect(layer).toContain(`LABEL=${fat}\\t/boot/firmware\\tvfat`);
    expect(layer).toContain(`ROOTPART=LABEL=${root}`);
    // the boot test boots the same root by label
    expect(readFileSync(join(ROOT, 'images/boot-test.sh'), 'utf8')).toContain(`root=LABEL=${root} `);
  });

  it('the layer enables the hardware watchdog from the board files and never gives it to PID 1', () => {
    expect(layer).toContain('"$B/$BOARD/config.txt" "$R/etc/default/raspi-firmware-custom"');
    expect(layer).toContain('modprobe.d/rackwitness-watchdog.conf');
    expect(layer).toMatch(/RuntimeWatchdogSec/);
    for (const b of boardsOnDisk()) {
      expect(readFileSync(join(ROOT, 'board', b, 'config.txt'), 'utf8'), b).toMatch(/^dtparam=watchdog=on$/m);
    }
    expect(readFileSync(join(ROOT, 'board/cmdline-extra.txt'), 'utf8')).toMatch(/bcm2835_wdt\.heartbeat=\d+/);
  });

  it('the device the daemon waits for can appear: udev tags watchdog devices for systemd', () => {
    // rackwitness.service has Wants=/After=dev-watchdog0.device; an untagged device never becomes
    // a systemd unit and the start waits out a 90 s job timeout (seen in the boot test)
    const unit = readFileSync(join(ROOT, 'systemd/rackwitness.service'), 'utf8');
    expect(unit).toMatch(/^After=dev-watchdog0\.device$/m);
    const rule = readFileSync(join(ROOT, 'board/udev/99-rackwitness.rules'), 'utf8')
      .split('\n')
      .find((l) => /^[^#]*SUBSYSTEM=="watchdog"/.test(l));
    expect(rule).toContain('TAG+="systemd"');
  });

  it('rackwitness-firstboot.service passes systemd-analyze verify without a warning', async () => {
    // verify needs ExecStart= to exist: check a copy that points at the script in the repository
    const dir = join(tmp, 'units');
    mkdirSync(dir, { recursive: true });
    const unit = readFileSync(join(ROOT, 'images/firstboot/rackwitness-firstboot.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/lib/rackwitness-image/rackwitness-firstboot\n');
    writeFileSync(
      join(dir, 'rackwitness-firstboot.service'),
      unit.replace(
        '/usr/lib/rackwitness-image/rackwitness-firstboot',
        join(ROOT, 'images/firstboot/rackwitness-firstboot'),
      ),
    );
    copyFileSync(join(ROOT, 'systemd/rackwitness.service'), join(dir, 'rackwitness.service'));
    let out: string;
    try {
      const r = await run('systemd-analyze', [
        'verify',
        '--man=no',
        '--generators=no',
        join(dir, 'rackwitness-firstboot.service'),
      ]);
      out = `${r.stdout}${r.stderr}`.trim();
    } catch (e) {
      const x = e as { stdout: string; stderr: string };
      out = `failed: ${x.stdout}${x.stderr}`.trim();
    }
    expect(out).toBe('');
  });

  it('first boot runs once, before the daemon and sshd', () => {
    const unit = readFileSync(join(ROOT, 'images/firstboot/rackwitness-firstboot.service'), 'utf8');
    expect(unit).toMatch(/^ConditionPathExists=!\/var\/lib\/rackwitness-image\/firstboot\.done$/m);
    expect(unit).toMatch(/^Before=.*\brackwitness\.service\b.*\bssh\.service\b/m);
    const script = readFileSync(join(ROOT, 'images/firstboot/rackwitness-firstboot'), 'utf8');
    expect(script).toContain('MARK=/var/lib/rackwitness-image/firstboot.done');
    // secrets must not stay on the world-readable FAT partition
    expect(script).toContain('rm -rf "$SRC"');
  });
});
