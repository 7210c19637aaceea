const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/**
 * Python's `datetime.strftime` for the directives chat templates use (C locale, local time): %a %A %b %B
 * %d %e %H %I %j %m %M %p %S %y %Y %%. Any other directive is kept as written.
 */
export function strftime(date: Date, format: string): string {
  return format.replace(/%([aAbBdeHIjmMpSyY%])/g, (_, directive: string) => {
    switch (directive) {
      case 'a':
        return DAYS[date.getDay()]!.slice(0, 3);
      case 'A':
        return DAYS[date.getDay()]!;
      case 'b':
        return MONTHS[date.getMonth()]!.slice(0, 3);
      case 'B':
        return MONTHS[date.getMonth()]!;
      case 'd':
        return pad(date.getDate());
      case 'e':
        return String(date.getDate()).padStart(2, ' ');
      case 'H':
        return pad(date.getHours());
      case 'I':
        return pad(((date.getHours() + 11) % 12) + 1);
      case 'j': {
        const start = new Date(date.getFullYear(), 0, 1);
        return pad(Math.round((new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime() - start.getTime()) / 86_400_000) + 1, 3);
      }
      case 'm':
        return pad(date.getMonth() + 1);
      case 'M':
        return pad(date.getMinutes());
      case 'p':
        return date.getHours() < 12 ? 'AM' : 'PM';
      case 'S':
        return pad(date.getSeconds());
      case 'y':
        return pad(date.getFullYear() % 100);
      case 'Y':
        return String(date.getFullYear());
      default:
        return '%';
    }
  });
}
