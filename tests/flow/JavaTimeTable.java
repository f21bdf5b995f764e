import java.time.*;
import java.time.format.*;
import java.util.*;

/**
 * Prints Java's own outputs for kflow's table-driven test of kflow.javatime, as JSON lines.
 * Regenerate: cd tests/flow && javac -d /tmp JavaTimeTable.java && java -cp /tmp JavaTimeTable > javatime_table.jsonl
 */
public class JavaTimeTable {
    static String q(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
    public static void main(String[] a) {
        long[][] durations = {
            {0,0},{1,0},{59,0},{60,0},{90,0},{3600,0},{5400,0},{-5400,0},{0,500000},{0,1000000},
            {0,1},{-1,999999999},{-1,500000000},{-2,500000000},{-61,500000000},{172800,0},{86401,0},
            {3661,123456789},{-3662,900000000},{-60,0},{-3600,0},{7,100000000},{-1,0},{0,120000000},
            {1,1000},{100000000,0},{-100000000,0}
        };
        for (long[] d : durations) {
            Duration v = Duration.ofSeconds(d[0], d[1]);
            System.out.println("{\"kind\":\"duration_format\",\"seconds\":" + d[0] + ",\"nanos\":" + d[1] + ",\"java\":" + q(v.toString()) + "}");
        }
        String[] texts = {"PT30S","PT5M","P1D","P2DT3H4M","P1W","PT-5S","-PT5S","-PT-5S","PT1.5H","PT1.5S",
            "PT0.0005S","pt1m","P","PT","P1DT","PT-0.5S","PT-1H-30M","+PT1H","P-1D","PT1,5S","PT.5S","PT5.S",
            "P1Y","P1M","PT1H30M","PT36H","PT1.123456789S","PT1.1234567891S","P0D","PT0S","-P1DT-1H"," PT1S",
            "PT1S ","P1DT2H","PT-0S","P1.5D","PT1M1.5S","PT+5S","30","1.5","PT1H1H","PT1S1M","P2W"};
        for (String t : texts) {
            String out;
            try { Duration v = Duration.parse(t); out = "{\"ok\":true,\"seconds\":" + v.getSeconds() + ",\"nanos\":" + v.getNano() + ",\"java\":" + q(v.toString()) + "}"; }
            catch (DateTimeParseException e) { out = "{\"ok\":false}"; }
            System.out.println("{\"kind\":\"duration_parse\",\"text\":" + q(t) + ",\"result\":" + out + "}");
        }
        long[][] instants = {{0,0},{1709284530,0},{1709284530,123000000},{1709284530,123456000},{1709284530,123456789},
            {1709284530,100},{-1,0},{-86400,500000000},{253402300799L,999999999},{-62135596800L,0},{951782400,0}};
        for (long[] i : instants) {
            System.out.println("{\"kind\":\"instant_format\",\"seconds\":" + i[0] + ",\"nanos\":" + i[1] + ",\"java\":" + q(Instant.ofEpochSecond(i[0], i[1]).toString()) + "}");
        }
        long[] times = {0, 1, 1000, 1000000, 60_000_000_000L, 36_900_000_000_000L, 36_930_000_000_000L, 36_930_500_000_000L, 86_399_999_999_999L};
        for (long t : times) {
            System.out.println("{\"kind\":\"local_time_format\",\"nanos_of_day\":" + t + ",\"java\":" + q(LocalTime.ofNanoOfDay(t).toString()) + "}");
        }
        String[] when = {"2024-03-05T09:07:03.123456Z[UTC]", "2024-03-05T15:30:00+01:00[Europe/Paris]",
            "2024-12-30T23:59:59.5-05:00[America/New_York]", "2021-01-01T00:00:00+05:30[Asia/Kolkata]"};
        String[] patterns = {"yyyy-MM-dd","dd/MM/yyyy HH:mm","yyyy-MM-dd'T'HH:mm:ss.SSSXXX","yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
            "EEEE d MMMM yyyy","EEE, MMM d","MMMMM","h:mm a","hh 'o''clock' a","H:m:s","k K","D DDD","Q QQ QQQ QQQQ",
            "w ww","Y YY YYYY","G GGGG","yy","uuuu","u","z","zzzz","VV","O OOOO","X XX XXX","x xx xxx","Z ZZZZ ZZZZZ",
            "S SS SSSSSSSSS","n","A","e ee eee eeee","c","E","LLLL","LLL","d MMM uuuu","''","'literal text'","B","W F","N","v vvvv","[yyyy]MM","yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS","EEEEE","MMMMM d"};
        String[] locales = {"en", "en-US", "fr", "de", "ja"};
        for (String w : when) {
            ZonedDateTime z = ZonedDateTime.parse(w);
            for (String loc : locales) {
                for (String p : patterns) {
                    String out;
                    try { out = q(DateTimeFormatter.ofPattern(p, Locale.forLanguageTag(loc)).format(z)); }
                    catch (RuntimeException e) { out = "null"; }
                    System.out.println("{\"kind\":\"pattern\",\"when\":" + q(w) + ",\"locale\":" + q(loc) + ",\"pattern\":" + q(p) + ",\"java\":" + out + "}");
                }
                for (FormatStyle s : FormatStyle.values()) {
                    String out;
                    try { out = q(DateTimeFormatter.ofLocalizedDateTime(s).withLocale(Locale.forLanguageTag(loc)).format(z)); }
                    catch (RuntimeException e) { out = "null"; }
                    System.out.println("{\"kind\":\"style\",\"when\":" + q(w) + ",\"locale\":" + q(loc) + ",\"pattern\":" + q(s.name().toLowerCase()) + ",\"java\":" + out + "}");
                }
            }
        }
    }
}
